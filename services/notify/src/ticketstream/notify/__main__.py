from ticketstream.notify.main import main

main()
