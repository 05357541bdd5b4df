from ticketstream.projections.main import main

main()
