"""The agents' desk: tickets, the rules every action follows (Telegram and the API alike), routing,
canned replies, the context card."""
