from crm_platform.migrations import run_env
from interactions.models import InteractionsTable

run_env(InteractionsTable.metadata)
