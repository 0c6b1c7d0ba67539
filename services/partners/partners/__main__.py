from partners.app import run

run()
