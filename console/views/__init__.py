"""Qt widgets, dialogs and item models. Views ask services; they never open sessions or write SQL."""
