"""Steps every browser test takes."""

from playwright.sync_api import expect


def log_in(page, live_server, username: str = "sam", password: str = "pw-sam-123") -> None:
    page.goto(f"{live_server.url}/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    page.get_by_role("button", name="Log in").click()
    expect(page).to_have_url(f"{live_server.url}/")
