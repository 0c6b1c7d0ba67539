from crm_platform.migrations import run_env
from pricing.models import PricingTable

run_env(PricingTable.metadata)
