"""``python -m wardrobe.data.colour_names fit|show``."""

from wardrobe.data.colour_names import main

if __name__ == "__main__":
    main()
