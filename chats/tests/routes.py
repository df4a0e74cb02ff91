from django.urls import reverse

CREATE = reverse("chats-create-chat")
GET = reverse("chats-get-chat")
UPDATE = reverse("chats-update-chat")
DELETE = reverse("chats-delete-chat")
LIST = reverse("chats-list-chats")
ADD = reverse("messages-add-message")
MESSAGES = reverse("messages-get-messages")
