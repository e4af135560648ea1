#: uri: "file:///proj/pkg/sub/main.py"
#: other "pkg/util.py": "def slug(title: str) -> str:\n    return title.lower().replace(\" \", \"-\")\n"
#: mode: "single-line"
#: model: "post.title)\n"
#: text: "post.title"
#: snippets: ["util.py:slug"]
#: prompt-contains: "# def slug(title: str) -> str:\n"
from ..util import slug

path = slug(█)
