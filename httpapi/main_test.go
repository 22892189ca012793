package httpapi_test

import (
	"flag"
	"fmt"
	"os"
	"testing"

	"github.com/mqcron/mqcron/apitest"
)

// TestMain runs the tests and then checks that they exercised every
// operation of the OpenAPI document with a success response, so that
// neither the document nor the tests can leave an endpoint out.
func TestMain(m *testing.M) {
	flag.Parse()
	code := m.Run()
	if code == 0 {
		code = checkOperationCoverage()
	}
	os.Exit(code)
}

// checkOperationCoverage returns 1 and prints the untested operations when
// a full run against the servers left an operation without a checked 2xx
// response. Runs filtered with -run or -skip, and runs without servers,
// leave operations out on purpose and are not checked.
func checkOperationCoverage() int {
	for _, name := range []string{"test.run", "test.skip"} {
		if f := flag.Lookup(name); f != nil && f.Value.String() != "" {
			return 0
		}
	}
	if !apitest.ServersAvailable() {
		return 0
	}
	contract, err := apitest.Shared()
	if err != nil {
		fmt.Fprintf(os.Stderr, "--- FAIL: OpenAPI coverage: %v\n", err)
		return 1
	}
	cov := contract.Coverage()
	if testing.Verbose() {
		for _, op := range cov.Operations {
			fmt.Printf("openapi coverage: %-16s statuses %v\n", op, cov.Statuses[op])
		}
		fmt.Printf("openapi coverage: documented error statuses no test returned: %v\n", cov.UnseenErrors)
	}
	if err := cov.Err(); err != nil {
		fmt.Fprintf(os.Stderr, "--- FAIL: OpenAPI coverage: %v\n", err)
		return 1
	}
	return 0
}
