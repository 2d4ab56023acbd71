"""Readers of the files the AWS CLI writes, into the same raw bundle a live collection gives."""
