"""interactions: meetings, calls, e-mails, tasks and the calendar."""
