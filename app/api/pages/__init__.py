"""The web pages: the kiosk at the door, the office, and the API docs, all served offline."""
