from notifications.app import run

run()
