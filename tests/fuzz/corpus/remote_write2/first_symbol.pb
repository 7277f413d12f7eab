"x"__name__"http_requests_total"job"api"instance"h0"h1"h2"h3"trace_id"abc"	Requests."latency_seconds*
 û‘ÿ¼1