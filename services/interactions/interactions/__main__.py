from interactions.app import run

run()
