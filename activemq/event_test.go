package activemq

import (
	"encoding/json"
	"os"
	"reflect"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"github.com/go-stomp/stomp/v3/frame"

	"github.com/mqcron/mqcron/schedule"
)

func TestEventMessage(t *testing.T) {
	// Headers as ActiveMQ 5.17 sends them for a wake-up of a job that was
	// sent with content-length, persistent:true and expires.
	wakeUp := frame.NewHeader(
		"content-length", "7",
		"expires", "1796403971985",
		"scheduledJobId", "ID:vm-1-5:1:-1:1:1",
		"destination", "/queue/mqcron.dispatch",
		"ack", "ID:vm-1-6:1",
		"subscription", "1",
		"priority", "4",
		"message-id", "ID:vm-1-5:1:-1:1:1",
		"content-type", "application/json",
		"persistent", "true",
		"timestamp", "1796400372002",
	)
	redeliveredText := frame.NewHeader(
		"expires", "0",
		"destination", "/queue/q",
		"priority", "9",
		"redelivered", "true",
		"message-id", "ID:m2",
		"correlation-id", "c1",
		"reply-to", "/queue/replies",
		"type", "t",
		"custom", "a:b",
		"timestamp", "1",
	)

	tests := []struct {
		name   string
		header *frame.Header
		body   string
		want   events.ActiveMQMessage
	}{
		{
			name:   "WakeUp",
			header: wakeUp,
			body:   `{"a":1}`,
			want: events.ActiveMQMessage{
				MessageID:    "ID:vm-1-5:1:-1:1:1",
				MessageType:  MessageTypeBytes,
				Timestamp:    1796400372002,
				DeliveryMode: 2,
				Destination:  events.ActiveMQDestination{PhysicalName: "mqcron.dispatch"},
				Expiration:   1796403971985,
				Priority:     4,
				Data:         "eyJhIjoxfQ==",
				Properties:   map[string]string{"scheduledJobId": "ID:vm-1-5:1:-1:1:1"},
			},
		},
		{
			name:   "RedeliveredText",
			header: redeliveredText,
			body:   "hi",
			want: events.ActiveMQMessage{
				MessageID:     "ID:m2",
				MessageType:   MessageTypeText,
				Timestamp:     1,
				DeliveryMode:  1,
				CorrelationID: "c1",
				ReplyTo:       "/queue/replies",
				Type:          "t",
				Redelivered:   true,
				Destination:   events.ActiveMQDestination{PhysicalName: "q"},
				Priority:      9,
				Data:          "aGk=",
				Properties:    map[string]string{"custom": "a:b"},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := eventMessage(tt.header, []byte(tt.body))
			if err != nil {
				t.Fatalf("eventMessage: %v", err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("eventMessage =\n%+v\nwant\n%+v", got, tt.want)
			}
		})
	}
}

func TestEventMessage_InvalidTimestamp(t *testing.T) {
	h := frame.NewHeader("message-id", "ID:m", "timestamp", "soon")
	if _, err := eventMessage(h, nil); err == nil {
		t.Fatal("eventMessage returned no error for timestamp \"soon\"")
	}
}

func TestPhysicalName(t *testing.T) {
	tests := map[string]string{
		"/queue/mqcron.dispatch": "mqcron.dispatch",
		"/topic/t":               "t",
		"/temp-queue/r":          "r",
		"plain":                  "plain",
	}
	for in, want := range tests {
		if got := physicalName(in); got != want {
			t.Errorf("physicalName(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestDecodeData(t *testing.T) {
	raw, err := os.ReadFile("testdata/activemq-event.json")
	if err != nil {
		t.Fatal(err)
	}
	var ev events.ActiveMQEvent
	if err := json.Unmarshal(raw, &ev); err != nil {
		t.Fatalf("unmarshal event: %v", err)
	}
	if len(ev.Messages) != 2 {
		t.Fatalf("got %d messages, want 2", len(ev.Messages))
	}

	// Lambda base64-encodes bytes and text messages alike.
	for _, m := range ev.Messages {
		data, err := DecodeData(m)
		if err != nil {
			t.Fatalf("DecodeData(%s): %v", m.MessageType, err)
		}
		body, err := schedule.DecodeJobBody(data)
		if err != nil {
			t.Fatalf("DecodeJobBody(%s): %v", m.MessageType, err)
		}
		if body.ScheduleID != "01JEXAMPLE0000000000000000" || body.Version != 3 {
			t.Errorf("%s: body = %+v, want schedule 01JEXAMPLE0000000000000000 version 3",
				m.MessageType, body)
		}
	}
}

func TestDecodeData_Invalid(t *testing.T) {
	_, err := DecodeData(events.ActiveMQMessage{MessageID: "ID:m", Data: "not base64!"})
	if err == nil {
		t.Fatal("DecodeData returned no error")
	}
}

func TestBrowsedJob(t *testing.T) {
	h := frame.NewHeader(
		"content-length", "7",
		"scheduledJobId", "ID:vm-1-5:2:-1:1:2",
		"custom", "x:y",
		"destination", "/temp-queue/browse1",
		"subscription", "7",
		"type", "Advisory",
		"AMQ_SCHEDULED_DELAY", "1000",
		"AMQ_SCHEDULED_PERIOD", "60000",
		"AMQ_SCHEDULED_REPEAT", "5",
		"original-destination", "/queue/mqcron.dispatch",
		"message-id", "ID:vm-1-1:1:0:0:1",
	)
	got, err := browsedJob(h, []byte(`{"k":2}`))
	if err != nil {
		t.Fatalf("browsedJob: %v", err)
	}
	want := BrowsedJob{
		ID:          "ID:vm-1-5:2:-1:1:2",
		Destination: "/queue/mqcron.dispatch",
		Delay:       1e9,
		Period:      6e10,
		Repeat:      5,
		Body:        []byte(`{"k":2}`),
		Headers:     map[string]string{"custom": "x:y", "type": "Advisory"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("browsedJob =\n%+v\nwant\n%+v", got, want)
	}

	if _, err := browsedJob(frame.NewHeader("original-destination", "/queue/q"), nil); err == nil {
		t.Error("browsedJob without scheduledJobId returned no error")
	}
}
