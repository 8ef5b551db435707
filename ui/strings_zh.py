"""Chinese text for every English string a page passes to ``t()``."""

ZH: dict[str, str] = {
}
