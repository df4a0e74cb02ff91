from django.apps import AppConfig


class TransferConfig(AppConfig):
    """Export and import: a chat as a file in our format, Markdown or
    ChatGPT's, and files of either JSON format read back as chats."""

    name = "transfer"
