#: other "helpers.py": "def parse(text: str) -> dict:\n    \"\"\"Parse key=value lines.\"\"\"\n    return dict(line.split(\"=\", 1) for line in text.splitlines())\n\n\ndef dump(data: dict) -> str:\n    return \"\\n\".join(f\"{k}={v}\" for k, v in data.items())\n"
#: mode: "single-line"
#: model: "text)\n"
#: text: "text"
#: snippets: ["helpers.py:parse"]
#: prompt-contains: "# helpers.py\n# def parse(text: str) -> dict:\n#     \"\"\"Parse key=value lines.\"\"\"\n"
#: prompt-lacks: "def dump"
from helpers import parse

settings = parse(█)
