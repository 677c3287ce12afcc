from agent_console.cli import main

raise SystemExit(main())
