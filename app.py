from lanbill import create_app

app = create_app()
