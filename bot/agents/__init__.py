"""The agents' side: the forum group where tickets live (topics, cards), agents' messages, commands
and buttons there, and their actions arriving from the admin API."""
