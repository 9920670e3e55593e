/*
 * JSON lines that more than one unit test reads.
 */
#ifndef KX_TEST_EVENT_LINES_H
#define KX_TEST_EVENT_LINES_H

/* A visit held, with a Cyrillic host and a Chinese visitor. */
#define LINE_VISIT_HELD \
	"{\"event_id\":\"9d2e4c1a-0b3f-4a5e-8c7d-6e5f4a3b2c1d\"," \
	"\"event_type\":\"visit.held\"," \
	"\"occurred_at\":\"2025-05-02T18:00:00Z\"," \
	"\"source\":\"iurc-crm\",\"programme\":\"IURC\"," \
	"\"sdgs\":[\"11.2\"],\"visit_id\":\"V-17\"," \
	"\"pairing_id\":\"P-2025-001\",\"visit_type\":\"study_visit\"," \
	"\"format\":\"in_person\",\"host\":{\"name\":\"Київ\"," \
	"\"country\":\"UA\",\"kind\":\"city\",\"eu\":false}," \
	"\"visitors\":[{\"name\":\"北京\",\"country\":\"CN\"," \
	"\"kind\":\"city\",\"eu\":false}]," \
	"\"start_date\":\"2025-04-28\",\"end_date\":\"2025-04-30\"," \
	"\"participants\":25}"

#endif
