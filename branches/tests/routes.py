from django.urls import reverse

CREATE_BRANCH = reverse("branches-create-branch")
GET_BRANCHES = reverse("branches-get-branches")
SET_ACTIVE = reverse("branches-set-active-branch")
RENAME = reverse("branches-rename-branch")
DELETE_BRANCH = reverse("branches-delete-branch")
