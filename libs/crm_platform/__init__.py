"""The CRM platform kit: mechanisms every service stands on, never one service's domain."""
