from ticketstream.routing.main import main

main()
