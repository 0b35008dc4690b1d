"""An order gateway in front of the digital-goods provider, shared by several teams."""
