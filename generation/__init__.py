"""Generated answers: pairs whose response a language model writes, for a
deployment of many processes on many hosts.

- `services`: one service per operation (add-message, create-chat,
  create-branch, regenerate without a response; stop-generation;
  stream-message), the only way in;
- `admission` and `claims`: a place in the deployment's capacity and the
  branch's claim, as one row per running generation in PostgreSQL (`Run`);
- `worker`: the thread that runs a generation in this process;
- `providers`: the model servers (the only code that talks to them);
- `context`: what the model is asked with;
- `eventlog`, `hub` and `readers`: the events of a generation, in Redis
  Streams, read by any process; `events` and `streams`: as SSE;
- `liveness`: heartbeats, and ending the generations of dead processes;
- `stopping` and `control`: stop from any process;
- `drain`: shutting a process down without losing answers;
- `endings`: how a generation ended, as stored and as its last event.
"""
