from deals.app import run

run()
