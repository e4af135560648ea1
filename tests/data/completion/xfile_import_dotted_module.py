#: other "pkg/helpers.py": "def parse(text: str) -> dict:\n    \"\"\"Parse key=value lines.\"\"\"\n    return dict(line.split(\"=\", 1) for line in text.splitlines())\n\n\ndef dump(data: dict) -> str:\n    return \"\\n\".join(f\"{k}={v}\" for k, v in data.items())\n"
#: mode: "single-line"
#: model: "text)\n"
#: text: "text"
#: snippets: ["helpers.py:parse", "helpers.py:dump"]
#: prompt-contains: "# pkg/helpers.py\n# def parse(text: str) -> dict:\n"
#: prompt-contains: "# def dump(data: dict) -> str:\n"
import pkg.helpers

settings = pkg.helpers.parse(█)
