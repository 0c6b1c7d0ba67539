from claims.models import ClaimsTable
from crm_platform.migrations import run_env

run_env(ClaimsTable.metadata)
