"""Every page names the icon, and a browser asking for /favicon.ico gets
it instead of a 404 in the log."""


def test_the_icon_is_served_and_named_by_the_pages(client):
    icon = client.get("/favicon.ico")
    assert icon.status_code == 200 and icon.data.startswith(b"<svg")
    assert client.get("/static/favicon.svg").status_code == 200
    for url in ("/login", "/"):
        assert 'rel="icon"' in client.get(url).get_data(as_text=True)
