"""Synthetic math pages and the formula detector's training (`pocketocr train formula`)."""
