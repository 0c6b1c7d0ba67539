from pricing.app import run

run()
