#: other "settings.py": "import os\n\nTIMEOUT = 30  # seconds\nDEBUG = os.environ.get(\"DEBUG\") == \"1\"\n"
#: mode: "single-line"
#: model: "timeout=TIMEOUT)\n"
#: text: "timeout=TIMEOUT"
#: snippets: ["settings.py:TIMEOUT"]
#: prompt-contains: "# settings.py\n# TIMEOUT = 30\n"
#: prompt-lacks: "DEBUG"
from settings import TIMEOUT

response = fetch(url, █)
