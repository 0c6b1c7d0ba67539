from crm_platform.migrations import run_env
from partners.models import PartnersTable

run_env(PartnersTable.metadata)
