#: mode: "multi-line"
#: model: "async with session.get(url) as response:\n        return await response.json()\n\n\nasync def main():\n"
#: text: "async with session.get(url) as response:\n        return await response.json()"
async def fetch_json(session, url):
    █
