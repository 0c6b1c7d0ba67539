from crm_platform.migrations import run_env
from deals.models import DealsTable

run_env(DealsTable.metadata)
