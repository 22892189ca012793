// Runs dynalite's command-line server (the path in DYNALITE_CLI, with this
// script's arguments) and keeps it running when a client aborts a request.
// dynalite 4.0.0 throws the request's 'aborted' error (ECONNRESET) from an
// event handler, which would otherwise end the whole process.
process.on('uncaughtException', (err) => {
  if (err && err.code === 'ECONNRESET') {
    console.error('dynalite: ignored a request that the client aborted')
    return
  }
  console.error(err)
  process.exit(1)
})
require(process.env.DYNALITE_CLI)
