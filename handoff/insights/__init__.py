"""What the conversations teach: analytics for leads, knowledge gaps for editors."""
