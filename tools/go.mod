// This module only keeps the npm packages in node_modules out of the
// mqcron module, so that go build ./... does not descend into them.
module github.com/mqcron/mqcron/tools

go 1.26
