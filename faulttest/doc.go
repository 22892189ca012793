// Package faulttest holds the fault tests of mqcron's delivery: each test
// runs the dispatcher against a private set of real local servers, breaks
// one part (kills the broker, stops DynamoDB or the MQTT broker, crashes
// the dispatcher, feeds it bad or duplicate messages) and checks that every
// due fire was delivered exactly once or recorded as expired or
// dead-lettered with a reason.
//
// The package has no code besides its tests. The tests run when
// MQCRON_REQUIRE_SERVERS=1 or MQCRON_TEST_STOMP is set, as under `make
// test`, and start their own servers, because they stop and kill them.
package faulttest
