from crm_platform.migrations import run_env
from notifications.models import NotificationsTable

run_env(NotificationsTable.metadata)
