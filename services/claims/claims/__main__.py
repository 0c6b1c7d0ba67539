from claims.app import run

run()
