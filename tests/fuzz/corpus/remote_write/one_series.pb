
V


jobapi

__name__http_requests_total

instancehost0

code200 û‘ÿ¼1