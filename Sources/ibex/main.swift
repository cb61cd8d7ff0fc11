import IbexInit
import IbexRuntime

ThisProcess.exit(Entry.main())
