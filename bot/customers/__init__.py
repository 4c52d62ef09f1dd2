"""The customers' side of the bot: their messages, commands and buttons, their chat, and every
word the bot says to them (in ru, uk and en)."""
