"""Server-rendered public pages: the directory of services at /informator."""
