pytest_plugins = ["crm_platform.testing"]
