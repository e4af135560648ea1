#: other "models.py": "class User:\n    \"\"\"A registered user.\"\"\"\n\n    def __init__(self, name: str, email: str):\n        self.name = name\n        self.email = email\n\n    def greet(self) -> str:\n        return f\"Hello, {self.name}\"\n\n    @property\n    def domain(self) -> str:\n        return self.email.split(\"@\")[1]\n"
#: mode: "multi-line"
#: model: "user = User(\"ada\", \"ada@example.com\")\n    print(user.greet())\n"
#: text: "user = User(\"ada\", \"ada@example.com\")\n    print(user.greet())"
#: snippets: ["models.py:User"]
#: prompt-contains: "# models.py\n# class User:\n#     \"\"\"A registered user.\"\"\"\n#     def __init__(self, name: str, email: str):\n#     def greet(self) -> str:\n#     def domain(self) -> str:\n"
#: prompt-lacks: "self.email = email"
from models import User


def main():
    █
